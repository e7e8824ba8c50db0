"""What every feature shares and nothing else: models, errors, ports, settings, the key layout,
display sanitising and observability. Core imports no feature."""
