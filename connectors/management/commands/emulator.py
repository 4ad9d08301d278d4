import contextlib
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from connectors.emulation import add_common_arguments, common_knobs
from connectors.registry import SYSTEMS


class Command(BaseCommand):
    help = "Run a vendor API emulator on a real port (prints its base URL when ready)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="system", required=True, metavar="SYSTEM")
        for key, info in SYSTEMS.items():
            if not info.emulator:
                continue
            p = sub.add_parser(key, help=f"the {info.label} emulator")
            add_common_arguments(p)
            with contextlib.suppress(ImportError, AttributeError):
                info.emulator_class.add_arguments(p)

    def handle(self, *args, **options):
        info = SYSTEMS[options["system"]]
        try:
            emulator = info.emulator_class.from_options(options, **common_knobs(options))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        running = emulator.serve(options["host"], options["port"], tls=options["tls"], ca_file=options["ca_file"] or None)
        self.stdout.write(f"{info.label} emulator ready at {running.base_url}", ending="\n")
        self.stdout.flush()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        running.stop()
