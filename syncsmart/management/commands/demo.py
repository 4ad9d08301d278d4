"""`python3 -m syncsmart run` ends here: the whole product on the embedded default.

Migrates, starts the vendor emulators on local ports with demo data, creates the demo tenant
(owner log-in printed), connects it to the emulators, then runs the web server and a django-q2
cluster as child processes until Ctrl-C, which stops everything.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from connectors.connectwise import emulator as cw
from syncsmart import demo_data
from tenants.onboarding.demo import hubspot_oauth_env, salesforce_oauth_env

DEMO_EMAIL = "demo@syncsmart.local"


class Command(BaseCommand):
    help = "Run the demo: emulators, web server and worker cluster together (Ctrl-C stops all)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("SYNCSMART_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SYNCSMART_PORT", "8000")))
        parser.add_argument(
            "--emulator-port-base",
            type=int,
            default=int(os.environ.get("SYNCSMART_EMULATOR_PORT_BASE", "8101")),
            help="HubSpot on this port, ConnectWise on +1, Dynamics on +2, Salesforce on +3, NetSuite on +4 (0: any free ports)",
        )
        parser.add_argument(
            "--seed-size",
            type=int,
            default=int(os.environ.get("SYNCSMART_DEMO_SEED_SIZE", "300")),
            help="demo records per object type in each emulator",
        )
        parser.add_argument("--no-emulators", action="store_true")
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        password = self._demo_password()
        owner, tenant = demo_data.ensure_demo_tenant(DEMO_EMAIL, password)
        emulators = []
        if not options["no_emulators"]:
            emulators = demo_data.start_emulators(options["emulator_port_base"], options["seed_size"])
            for running in emulators:
                self.stdout.write(f"  {running.emulator.system} emulator: {running.base_url}")
            site = f"http://{options['host']}:{options['port']}"
            for line in demo_data.connect_demo_tenant(tenant, emulators, site):
                self.stdout.write(f"  {line}")
        child_env = {}
        hubspot = next((r for r in emulators if r.emulator.system == "hubspot"), None)
        if hubspot is not None:
            # The installer's "Connect HubSpot" goes to the HubSpot emulator's consent page.
            child_env = hubspot_oauth_env(hubspot.base_url)
        salesforce = next((r for r in emulators if r.emulator.system == "salesforce"), None)
        if salesforce is not None:
            # The installer's "Sign in with Salesforce" goes to the Salesforce emulator's consent page.
            child_env.update(salesforce_oauth_env(salesforce.base_url))
        # Webhook targets the workers (re-)register point at this web server.
        child_env["SITE_URL"] = f"http://{options['host']}:{options['port']}"
        children = self._start_children(options, child_env)
        self._print_installer_credentials(emulators)
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(
            self.style.SUCCESS(
                "\nSyncSmart is running.\n"
                f"  Open:      {url}\n"
                f"  Log in:    {DEMO_EMAIL}\n"
                f"  Password:  {password}\n"
                f"  Staff console: {url}staff/ (same log-in)\n"
                f"  Try the installer: {url}install/ (HubSpot OAuth goes to the emulator)\n"
                "Press Ctrl-C to stop.\n"
            )
        )
        self.stdout.flush()
        stopping = {"now": False}

        def stop(*_):
            stopping["now"] = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping["now"]:
                for name, proc in children.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping the demo.")
                        stopping["now"] = True
                time.sleep(0.3)
        finally:
            self._stop_children(children)
            for running in emulators:
                running.stop()
            self.stdout.write("Stopped.")

    def _print_installer_credentials(self, emulators) -> None:
        """What to type in the installer to connect the built-in emulators (demo keys, not secrets)."""
        for running in emulators:
            host = running.base_url.split("://", 1)[1]
            if running.emulator.system == "connectwise":
                self.stdout.write(
                    f"  Installer, ConnectWise emulator: company {cw.DEMO_COMPANY}, site {host}, public key "
                    f"{cw.DEMO_PUBLIC_KEY}, private key {cw.DEMO_PRIVATE_KEY}, client id {cw.DEMO_CLIENT_ID}"
                )
            elif running.emulator.system == "dynamics" and hasattr(running.emulator, "connection_settings"):
                config, credentials = running.emulator.connection_settings(running.base_url)
                self.stdout.write(
                    f"  Installer, Dynamics emulator: org URL {config['org_url']}, tenant id {config['tenant_id']}, "
                    f"client id {config['client_id']}, client secret {credentials['client_secret']}, "
                    f"token endpoint base {config['token_url_base']}"
                )
            elif running.emulator.system == "netsuite":
                config, credentials = running.emulator.connection_settings(running.base_url)
                self.stdout.write(
                    f"  Installer, NetSuite emulator: account id {config['account_id']}, token-based authentication, "
                    f"consumer key {config['consumer_key']}, consumer secret {credentials['consumer_secret']}, "
                    f"token id {credentials['token_id']}, token secret {credentials['token_secret']}, subsidiary 1, "
                    f"API address (advanced) {running.base_url}"
                )
            elif running.emulator.system == "salesforce":
                self.stdout.write(
                    f"  Installer, Salesforce emulator: choose Salesforce, then “Sign in with Salesforce” (consent page at "
                    f"{running.base_url}, either environment)"
                )

    def _demo_password(self) -> str:
        # A fresh password every start: nothing but its hash is ever stored.
        return "demo-" + secrets.token_urlsafe(9)

    def _start_children(self, options, extra_env: dict[str, str]) -> dict[str, subprocess.Popen]:
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        env = {**os.environ, **extra_env, "Q_WORKERS": str(options["workers"]), "PYTHONUNBUFFERED": "1"}
        web = subprocess.Popen(
            [*manage, "runserver", "--noreload", "--skip-checks", f"{options['host']}:{options['port']}"],
            env=env,
            start_new_session=True,
        )
        worker = subprocess.Popen([*manage, "qcluster"], env=env, start_new_session=True)
        return {"web server": web, "worker cluster": worker}

    def _stop_children(self, children: dict[str, subprocess.Popen]) -> None:
        for proc in children.values():
            if proc.poll() is None:
                proc.terminate()  # the q2 cluster stops its own workers on SIGTERM
        deadline = time.monotonic() + 15
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
