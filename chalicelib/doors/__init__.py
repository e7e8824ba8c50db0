"""What the door agents report: door events (held open, forced open, …), recorded and announced."""
