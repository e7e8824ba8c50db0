"""``python -m sandbox.rekognition --port N``: the endpoint in the foreground, for a developer."""

from __future__ import annotations

import argparse
import threading

from sandbox.rekognition.server import RekognitionEndpoint


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted, printing the URL to export."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.rekognition", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free one)")
    args = parser.parse_args(argv)
    with RekognitionEndpoint(port=args.port) as endpoint:
        print(f"Rekognition endpoint at {endpoint.url}", flush=True)
        print(f"export AWS_ENDPOINT_URL_REKOGNITION={endpoint.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped", flush=True)


if __name__ == "__main__":
    main()
