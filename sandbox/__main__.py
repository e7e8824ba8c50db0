"""The sandbox's command line: ``python -m sandbox demo|evaluate``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="import the staff, set the doors' rules, scan six uploads, write the day's report"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("out"), help="where the report files go (default out/)"
    )
    report = commands.add_parser("report", help="run the daily report handler and save its email")
    report.add_argument("--day", help="local day, YYYY-MM-DD (default: today)")
    report.add_argument("--out", type=Path, default=Path("out"), help="where the files go (default out/)")
    report.add_argument(
        "--empty", action="store_true", help="skip the demo day's scans (a no-activity email)"
    )
    evaluate = commands.add_parser("evaluate", help="enroll a gallery and scan probe photos")
    evaluate.add_argument("--gallery", type=Path, required=True, help="one subfolder per employee")
    evaluate.add_argument("--probes", type=Path, required=True, help="photos to scan")
    evaluate.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    up = commands.add_parser("up", help="run local AWS, the event pump and the API until stopped")
    up.add_argument("--port", type=int, default=8000, help="API port on 127.0.0.1 (default 8000)")
    token = commands.add_parser("token", help="print a bearer token the running sandbox accepts")
    token.add_argument("--group", choices=["admins", "security"], required=True)
    put = commands.add_parser("upload", help="upload a photo to the running sandbox as a camera")
    put.add_argument("photo", type=Path)
    put.add_argument("--camera", default="front-door", help="camera id (default front-door)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    # The door's refusals and events: the demo prints each as its own line already.
    logging.getLogger("door").setLevel(logging.ERROR)

    from sandbox.stack import SandboxError

    try:
        if args.command == "demo":
            from sandbox.demo import run_demo

            run_demo(args.out)
            return 0
        if args.command == "report":
            from sandbox.demo import report_command

            for path in report_command(args.day, args.out, with_demo_day=not args.empty):
                print(path)
            return 0
        if args.command == "up":
            from sandbox.serve import serve

            serve(args.port)
            return 0
        if args.command == "token":
            from sandbox.serve import token as issue

            print(f"Bearer token for a user in group {args.group} (valid one hour):")
            print(issue(args.group))
            return 0
        if args.command == "upload":
            from sandbox.serve import upload

            print(upload(args.photo, args.camera))
            return 0
        from sandbox.evaluate import run_evaluation

        for folder in (args.gallery, args.probes):
            if not folder.is_dir():
                parser.error(f"{folder} is not a folder")
        run_evaluation(args.gallery, args.probes, as_json=args.json)
    except SandboxError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
