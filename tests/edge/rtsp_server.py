"""A real RTSP server on 127.0.0.1 for the capture and service tests, as an IP camera is one.

GStreamer's RTSP server sends an MP4 file's H.264 as it is (no re-encoding), paced in real time,
from the start of the file to each new client. It runs under Debian's ``/usr/bin/python3``, which
has ``gi``; the test helper ``tests.edge.streams.RtspServer`` starts it::

    /usr/bin/python3 tests/edge/rtsp_server.py --port 8554 --video clip.mp4 --mount /cam

Once the port is bound it prints ``listening rtsp://127.0.0.1:PORT/MOUNT`` on stdout; it serves
until killed. Any other path is answered with 404 Not Found, as a camera does. ``--user NAME``
requires Basic authentication (the password is read from stdin's first line, not the command line).
``--check`` only checks that the GStreamer elements are installed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Python puts this file's folder first on the path, and tests/edge/signal would then hide the
# standard library's signal module from gi.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ELEMENTS = ("filesrc", "qtdemux", "h264parse", "rtph264pay")  # core, -good, -bad (1.22), -good
PIPELINE = "filesrc name=file ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1"


class FileFactory(GstRtspServer.RTSPMediaFactory):
    """A fresh pipeline per client (not shared), so each one gets the file from its start."""

    def __init__(self, video: str) -> None:
        super().__init__()
        self.video = video
        self.set_shared(False)

    def do_create_element(self, url):  # type: ignore[no-untyped-def]
        pipeline = Gst.parse_launch(f"( {PIPELINE} )")
        pipeline.get_by_name("file").set_property("location", self.video)  # no quoting of the path
        return pipeline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int)
    parser.add_argument("--video", help="an MP4 file with an H.264 video track")
    parser.add_argument("--mount", default="/cam")
    parser.add_argument("--check", action="store_true", help="only check that the elements are installed")
    parser.add_argument("--user", help="require Basic authentication as this user (password from stdin's first line)")
    args = parser.parse_args()

    Gst.init(None)
    missing = [name for name in ELEMENTS if Gst.ElementFactory.find(name) is None]
    if missing:
        print(f"GStreamer elements missing: {', '.join(missing)}", file=sys.stderr, flush=True)
        return 2
    if args.check:
        return 0
    if args.port is None or args.video is None:
        parser.error("--port and --video are required")
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = FileFactory(args.video)
    if args.user:  # as a camera with a password does: 401 without the right credentials
        password = sys.stdin.readline().rstrip("\n")
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        permissions.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:  # binds the port here
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1
    print(f"listening rtsp://127.0.0.1:{args.port}{args.mount}", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
