"""The door's camera: real files, real HTTP servers on 127.0.0.1, captures the test scripts;
bad streams give None (never an exception), outages back off on the clock and are logged once."""

from __future__ import annotations

import contextlib
import logging
import struct
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from door.camera import OpenCvCamera, declared_size, redact
from sandbox.photos import ensure_photos
from sandbox.videos import VIDEO_CACHE, letterbox, read_photo, video_from_photos

PHOTOS = ensure_photos()


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedCapture:
    """A capture that gives ``frames`` then fails; ``frames=None``: it does not open."""

    def __init__(self, frames: list[object] | None) -> None:
        self.frames = list(frames or [])
        self.opened = frames is not None
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, object]:
        return (True, self.frames.pop(0)) if self.frames else (False, None)

    def release(self) -> None:
        self.released = True


class Captures:
    """The capture factory: one script per open, then captures that do not open."""

    def __init__(self, *scripts: list[object] | None, clock: Clock | None = None) -> None:
        self.scripts = list(scripts)
        self.clock = clock
        self.targets: list[str | int] = []
        self.opened_at: list[float] = []

    def __call__(self, target: str | int) -> ScriptedCapture:
        self.targets.append(target)
        self.opened_at.append(self.clock.now if self.clock else 0.0)
        return ScriptedCapture(self.scripts.pop(0) if self.scripts else None)


def picture(width: int = 64, height: int = 48) -> npt.NDArray[np.uint8]:
    return np.full((height, width, 3), 90, dtype=np.uint8)


def jpeg(pixels: npt.NDArray[np.uint8], extension: str = ".jpg") -> bytes:
    ok, encoded = cv2.imencode(extension, pixels)
    assert ok
    return encoded.tobytes()


def video(*names: str, seconds: float = 1.0, size: tuple[int, int] = (1280, 720)) -> Path:
    return video_from_photos(VIDEO_CACHE, [PHOTOS / name for name in names], seconds, 10, size)


@pytest.fixture(autouse=True)
def camera_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="door.camera")  # "back after" is INFO


def lines(caplog: pytest.LogCaptureFixture, word: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if f" {word}" in record.getMessage()]


def test_a_video_file_gives_its_frames_and_its_end_is_a_drop(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(100.0)
    camera = OpenCvCamera(str(video("ardern.jpg")), clock=clock)
    frames = [camera.read() for _ in range(10)]
    assert all(frame is not None for frame in frames)
    first = frames[0]
    assert first is not None and first.pixels.shape == (720, 1280, 3) and first.pixels.dtype == np.uint8
    assert first.read_at == 100.0 and camera.frames_read == 10 and camera.lost_since is None
    assert camera.read() is None  # the file ended
    assert camera.lost_since == 100.0
    assert lines(caplog, "lost") == [f"camera {camera.name} lost: no frame from the stream"]
    clock.now += 0.5
    assert camera.read() is not None  # reopened after the backoff: from the start again
    assert lines(caplog, "back") == [f"camera {camera.name} back after 0.5 s"]
    camera.close()


def test_a_looping_file_starts_again_without_an_outage() -> None:
    camera = OpenCvCamera(str(video("obama.jpg", seconds=0.3)), loop=True, clock=Clock())
    assert all(camera.read() is not None for _ in range(10))
    assert camera.lost_since is None and camera.frames_read == 10
    camera.close()


def test_a_file_of_garbage_bytes_is_an_outage_and_not_reopened_before_the_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(np.random.default_rng(7).bytes(50_000))
    clock = Clock()
    opened: list[str | int] = []

    def open_capture(target: str | int) -> cv2.VideoCapture:
        opened.append(target)
        return cv2.VideoCapture(target)

    camera = OpenCvCamera(str(garbage), clock=clock, open_capture=open_capture)
    assert camera.read() is None and camera.lost_since == 0.0
    for _ in range(5):
        assert camera.read() is None
    assert opened == [str(garbage)]  # still waiting: read() did not try, let alone block
    clock.now = 0.5
    assert camera.read() is None and len(opened) == 2
    assert len(lines(caplog, "lost")) == 1


def test_a_missing_file_comes_back_once_it_exists(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "later.avi"
    clock = Clock(10.0)
    camera = OpenCvCamera(str(path), clock=clock)
    assert camera.read() is None and camera.lost_since == 10.0
    assert lines(caplog, "lost") == [f"camera {path} lost: cannot open"]
    path.write_bytes(video("biden.jpg", seconds=0.3).read_bytes())
    assert camera.read() is None  # there now, but the backoff has not passed
    clock.now = 10.5
    frame = camera.read()
    assert frame is not None and frame.read_at == 10.5 and camera.lost_since is None
    assert lines(caplog, "back") == [f"camera {path} back after 0.5 s"]
    camera.close()


def test_a_4k_stream_leaves_downscaled_to_max_side() -> None:
    camera = OpenCvCamera(str(video("ardern.jpg", seconds=0.2, size=(3840, 2160))), clock=Clock())
    frame = camera.read()
    assert frame is not None and frame.pixels.shape == (720, 1280, 3)
    assert camera.source_size == (3840, 2160)
    small = OpenCvCamera(
        str(video("ardern.jpg", seconds=0.2, size=(3840, 2160))), max_side=640, clock=Clock()
    )
    frame = small.read()
    assert frame is not None and frame.pixels.shape == (360, 640, 3)
    camera.close()
    small.close()


def test_grey_and_bgra_frames_are_converted_and_anything_else_dropped() -> None:
    grey = np.full((48, 64), 200, dtype=np.uint8)
    bgra = np.dstack([picture(), np.full((48, 64), 255, np.uint8)])
    odd: list[object] = [grey, grey[:, :, None], bgra, picture().astype(np.float32), picture()[:, :, :2]]
    odd += [None, np.zeros((0, 0, 3), np.uint8), "not pixels"]
    camera = OpenCvCamera("scripted", clock=Clock(), open_capture=Captures(odd))
    frames = [camera.read() for _ in odd]
    assert [frame is not None for frame in frames] == [True] * 3 + [False] * 5
    for frame in frames[:3]:
        assert frame is not None and frame.pixels.shape == (48, 64, 3)
    assert frames[0] is not None and int(frames[0].pixels[0, 0, 2]) == 200
    assert camera.lost_since is None and camera.frames_dropped == 5


def test_a_drop_backs_off_exponentially_to_its_cap_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    captures = Captures([picture(), picture()], clock=clock)
    camera = OpenCvCamera("scripted", reconnect_backoff=(0.5, 2.0), clock=clock, open_capture=captures)
    got = []
    while clock.now < 10.0:
        got.append(camera.read() is not None)
        clock.now += 0.25
    assert got[:3] == [True, True, False]
    assert captures.opened_at == [0.0, 1.0, 2.0, 4.0, 6.0, 8.0]  # lost at 0.5: +0.5, +1, +2, +2 …
    captures.scripts.append([picture()])
    clock.now = 10.0
    assert camera.read() is not None and camera.lost_since is None
    assert lines(caplog, "lost") == ["camera scripted lost: no frame from the stream"]
    assert lines(caplog, "back") == ["camera scripted back after 9.5 s"]
    clock.now = 10.25
    assert camera.read() is None  # a new outage starts over at the first backoff
    clock.now = 10.75
    assert camera.read() is None and captures.opened_at[-1] == 10.75


def test_devices_open_by_index() -> None:
    for source, index in [("usb:0", 0), ("/dev/video2", 2)]:
        captures = Captures()
        assert OpenCvCamera(source, clock=Clock(), open_capture=captures).read() is None
        assert captures.targets == [index]


def test_rtsp_credentials_reach_the_capture_and_never_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    url = "rtsp://admin:hunter2@10.0.0.5:554/stream1?token=s3cret"
    clock = Clock()
    captures = Captures(None, [picture()], clock=clock)
    camera = OpenCvCamera(url, clock=clock, open_capture=captures)
    assert camera.read() is None
    clock.now = 0.5
    assert camera.read() is not None
    assert captures.targets == [url, url]
    assert camera.name == "rtsp://10.0.0.5:554/stream1?…"
    assert "hunter2" not in caplog.text and "s3cret" not in caplog.text and "admin" not in caplog.text
    assert len(lines(caplog, "lost")) == 1 and len(lines(caplog, "back")) == 1


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("rtsp://u:p@cam.local/live", "rtsp://cam.local/live"),
        ("http://user:pw@[fe80::1]:8080/snap.jpg?pwd=x", "http://[fe80::1]:8080/snap.jpg?…"),
        ("https://cam.example/video.mjpg", "https://cam.example/video.mjpg"),
        ("/srv/door.avi", "/srv/door.avi"),
        ("usb:0", "usb:0"),
        # Unencoded, "/" or "#" end the host early: what looks like a host or path is the password.
        ("rtsp://admin:HUNTER2/secret@10.0.0.5:554/live", "rtsp://…"),
        ("rtsp://admin:HUNTER2#secret@10.0.0.5:554/live", "rtsp://…"),
        ("rtsp://admin:1234/HUNTER2@10.0.0.5:554/live", "rtsp://…"),
    ],
)
def test_redact_keeps_only_what_a_log_may_show(source: str, shown: str) -> None:
    assert redact(source) == shown


Reply = Callable[[BaseHTTPRequestHandler], None]


class Server:
    """A local HTTP camera answering each request with the next reply in ``replies``."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.authorizations: list[str | None] = []
        self.release = threading.Event()  # ends replies that hang
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.authorizations.append(self.headers.get("Authorization"))
                with contextlib.suppress(OSError):  # the camera under test hung up on a slow reply
                    server.replies.pop(0)(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_port}"


@pytest.fixture
def server() -> Iterator[Server]:
    local = Server()
    thread = threading.Thread(target=local.http.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield local
    local.release.set()
    local.http.shutdown()
    local.http.server_close()
    thread.join(5)


def body(content: bytes, status: int = 200, kind: str = "image/jpeg") -> Reply:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    return reply


def hang(server: Server) -> Reply:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        server.release.wait(10)  # past any timeout of the test: the camera must give up first

    return reply


def trickle(server: Server) -> Reply:
    """Headers, then a byte every 50 ms for 2 s: each socket read is quick, the whole too slow."""

    def reply(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.end_headers()
        for _ in range(40):
            if server.release.wait(0.05):
                return
            handler.wfile.write(b"\xff")
            handler.wfile.flush()

    return reply


def test_an_http_snapshot_survives_garbage_errors_and_a_hung_camera(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    photo = read_photo(PHOTOS / "obama.jpg")
    grey = np.asarray(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    server.replies = [body(jpeg(photo)), body(b"not a jpeg"), body(b"oops", 500)]
    server.replies += [hang(server), trickle(server), body(jpeg(grey, ".png"), kind="image/png")]
    clock = Clock()
    camera = OpenCvCamera(f"{server.url}/cgi/snapshot.jpg", clock=clock, timeout=0.3)
    frame = camera.read()
    assert frame is not None and frame.pixels.shape == photo.shape
    assert camera.read() is None and camera.lost_since is None  # garbage: a bad frame, no outage
    assert camera.read() is None and camera.lost_since == 0.0  # 500: the camera is not answering
    assert lines(caplog, "lost") == [f"camera {camera.name} lost: snapshot failed: HTTP 500"]
    for now in (0.5, 1.5):  # hangs, then trickles: both cut at the timeout
        clock.now = now
        started = time.monotonic()
        assert camera.read() is None
        assert time.monotonic() - started < 1.0
    assert camera.read() is None  # backing off: no request
    clock.now = 3.5
    frame = camera.read()  # a grey PNG: converted to three channels
    assert frame is not None and frame.pixels.shape == photo.shape and frame.pixels.dtype == np.uint8
    assert len(server.authorizations) == 6 and len(lines(caplog, "lost")) == 1
    assert lines(caplog, "back") == [f"camera {camera.name} back after 3.5 s"]


def test_a_snapshot_bigger_than_the_cap_is_dropped(server: Server) -> None:
    server.replies = [body(jpeg(picture(400, 300))), body(jpeg(picture(40, 30)))]
    camera = OpenCvCamera(f"{server.url}/still", snapshot=True, max_bytes=1000, clock=Clock())
    assert camera.read() is None and camera.lost_since is None and camera.frames_dropped == 1
    assert camera.read() is not None


def test_snapshot_credentials_go_as_basic_auth_and_never_into_a_log(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.replies = [body(b"no", 401), body(jpeg(picture()))]
    clock = Clock()
    camera = OpenCvCamera(server.url.replace("//", "//door:pa%24%24word@") + "/a.jpeg", clock=clock)
    assert camera.read() is None
    clock.now = 0.5
    assert camera.read() is not None
    assert server.authorizations == ["Basic ZG9vcjpwYSQkd29yZA=="] * 2  # door:pa$$word
    assert "word" not in caplog.text and "door:" not in caplog.text
    assert lines(caplog, "lost") == [f"camera {server.url}/a.jpeg lost: snapshot failed: HTTP 401"]


def test_a_failed_fetch_never_quotes_the_url(caplog: pytest.LogCaptureFixture) -> None:
    # http.client refuses a space in the request target and quotes it, query token included.
    camera = OpenCvCamera("http://127.0.0.1:9/a b.jpg?pwd=s3cret", clock=Clock())
    assert camera.read() is None
    assert lines(caplog, "lost") == ["camera http://127.0.0.1:9/a b.jpg?… lost: snapshot failed: InvalidURL"]


def test_an_mjpeg_stream_over_http_is_read_by_videocapture(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    part = jpeg(letterbox(read_photo(PHOTOS / "ardern.jpg"), (640, 480)))

    def stream(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        handler.end_headers()
        for _ in range(6):
            handler.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
            handler.wfile.write(b"Content-Length: %d\r\n\r\n%s\r\n" % (len(part), part))

    server.replies = [stream]
    camera = OpenCvCamera(f"{server.url}/video.mjpg", clock=Clock())
    frames = [camera.read() for _ in range(6)]
    assert all(frame is not None and frame.pixels.shape == (480, 640, 3) for frame in frames)
    assert camera.read() is None and camera.lost_since is not None  # the server ended the stream
    camera.close()


def trickled_headers(server: Server) -> Reply:
    """A status line, then a header a byte every 50 ms for 2 s: the answer never gets past its headers."""

    def reply(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in range(40):
            if server.release.wait(0.05):
                return
            handler.wfile.write(b"x")

    return reply


def test_a_camera_trickling_its_headers_is_cut_at_the_timeout_as_an_outage(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.replies = [trickled_headers(server)]
    camera = OpenCvCamera(f"{server.url}/snap.jpg", clock=Clock(5.0), timeout=0.3)
    started = time.monotonic()
    assert camera.read() is None
    assert time.monotonic() - started < 1.0
    assert camera.lost_since == 5.0
    assert lines(caplog, "lost") == [
        f"camera {camera.name} lost: snapshot failed: TimeoutError: no answer within 0.3 s"
    ]


def claiming(width: int, height: int) -> bytes:
    """A JPEG of 8 × 8 pixels whose frame header claims ``width`` × ``height``."""
    data = bytearray(jpeg(picture(8, 8)))
    at = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def test_a_snapshot_declaring_too_many_pixels_is_dropped_undecoded(server: Server) -> None:
    # Decoded, each would be allocated whole first: 30000 × 30000 is 2.7 GB from 631 bytes.
    wide_png = jpeg(picture(8193, 1), ".png")
    server.replies = [body(claiming(8193, 16)), body(claiming(8000, 5001)), body(wide_png)]
    server.replies += [body(claiming(8192, 16))]
    camera = OpenCvCamera(f"{server.url}/snap.jpg", clock=Clock())
    assert [camera.read() for _ in range(3)] == [None] * 3
    assert camera.frames_dropped == 3 and camera.lost_since is None
    frame = camera.read()  # at the limit: taken (and downscaled as any frame)
    assert frame is not None and camera.source_size == (8192, 16)


def test_an_opencv_error_while_decoding_is_a_dropped_frame(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_memory(data: object, flags: int) -> None:
        raise cv2.error("OpenCV(4.13.0) alloc.cpp:73: error: (-4:Insufficient memory) Failed to allocate")

    monkeypatch.setattr(cv2, "imdecode", out_of_memory)  # what a box with 2 GB of address space sees
    server.replies = [body(jpeg(picture()))]
    camera = OpenCvCamera(f"{server.url}/snap.jpg", clock=Clock())
    assert camera.read() is None
    assert camera.frames_dropped == 1 and camera.lost_since is None


def segments(count: int) -> bytes:
    """``count`` comment segments, as a JPEG may carry before its frame header."""
    return b"\xff\xfe\x00\x04hi" * count


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (jpeg(picture(64, 48)), (64, 48)),
        (jpeg(picture(64, 48), ".png"), (64, 48)),
        (cv2.imencode(".jpg", picture(64, 48), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes(), (64, 48)),
        (claiming(30000, 30000), (30000, 30000)),
        (b"\xff\xd8" + segments(90) + claiming(640, 480)[2:], (640, 480)),
        (b"\xff\xd8\xff\xff\xff" + claiming(640, 480)[3:], (640, 480)),  # fill bytes before a marker
        (b"\xff\xd8" + segments(100_000) + claiming(640, 480)[2:], None),  # too far: not walked
        (jpeg(picture(64, 48), ".bmp"), None),
        (jpeg(picture(64, 48), ".webp"), None),
        (b"GIF89a\x40\x00\x30\x00", None),
        (claiming(64, 48)[:20], None),  # cut before its frame header
        (b"\xff\xd8\xff\xfe\x00\x01", None),  # a segment length that is not one
        (b"\xff\xd8\xff\xc3\x00\x0b\x08\x00\x30\x00\x40", None),  # lossless: not what cameras send
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", None),  # cut in its header
        (b"", None),
    ],
)
def test_declared_size_reads_jpeg_and_png_headers_only(data: bytes, size: tuple[int, int] | None) -> None:
    assert declared_size(data) == size


def test_declared_size_is_quick_on_a_hostile_header() -> None:
    walls = [b"\xff\xd8" + b"\xff" * 8_000_000, b"\xff\xd8" + segments(1_000_000)]
    started = time.monotonic()
    assert [declared_size(data) for data in walls] == [None, None]
    assert time.monotonic() - started < 0.5
