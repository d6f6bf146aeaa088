"""``./run-demo`` (``python -m demo``): the demo store with its kiosk, or with ``--signage`` its signage screen.

Starts what ``demo.store`` starts (Mosquitto, the reference head office, the device's agent with the
demo chain applied), then opens the screen on it. With no display it runs on Xvfb and saves
screenshots. ``--script`` plays a visit with a screenshot per step and exits 0; ``--stay-open`` keeps
it running. The store's time is the real time, or ``--at 'mon 08:30'``; the window shows it in a tag.
Ctrl-C (or SIGTERM) stops every process the demo started and says so in one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from kiosk.display import NoDisplay, has_display, start_xvfb

from .console import run_console
from .kiosk import run_kiosk, stop_process
from .signage import run_signage
from .store import ASSETS, DEVICE, ROOT, Demo, DemoError, add_at_argument, demo_clock, stop_on_sigterm

SIGNAGE_DEVICE = "signage-1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run-demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="sync only: print the summary and exit (no window)")
    parser.add_argument("--script", action="store_true", help="play a scripted visit with a screenshot per step, "
                                                              "then exit 0")
    parser.add_argument("--stay-open", action="store_true", help="with --script: keep running after the last step")
    parser.add_argument("--signage", action="store_true", help="open the store's signage player instead of the kiosk")
    parser.add_argument("--console", action="store_true", help="head office with its web console, the demo stores'"
                                                               " devices headless; opens no window")
    parser.add_argument("--port", type=int, default=8089, help="with --console: its port (another if taken)")
    parser.add_argument("--var", type=Path, default=ROOT / "var" / "demo")
    parser.add_argument("--timeout", type=float, default=30.0)
    add_at_argument(parser)
    args = parser.parse_args(argv)
    demo = Demo(args.var, ASSETS, timeout=args.timeout, clock=demo_clock(parser, args.at),
                kind="signage" if args.signage else "kiosk", device=SIGNAGE_DEVICE if args.signage else DEVICE)
    with stop_on_sigterm():
        try:
            if args.once:
                return demo.run(once=True)
            if args.console:
                return run_console(demo, port=args.port)
            with ExitStack() as stack:
                agent, responder = demo.start_store(stack)
                shots = args.var / "screens" / ("signage" if args.signage else "")
                if not has_display():
                    xvfb = start_xvfb()
                    demo.on_stop(stack, lambda: stop_process(xvfb), "Xvfb")
                    print(f"no display: running on Xvfb {os.environ['DISPLAY']}; screenshots in {shots}")
                if args.signage:
                    run_signage(agent, responder, demo, script=args.script, exit_after=not args.stay_open,
                                shots=shots)
                else:
                    run_kiosk(agent, demo, script=args.script, exit_after=not args.stay_open, shots=shots)
        except (DemoError, NoDisplay) as exc:
            print(f"run-demo: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
        print(demo.stopped_line())
        return 0



if __name__ == "__main__":
    sys.exit(main())
