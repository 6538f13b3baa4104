"""The containers of one ``stagekit smoke`` run: started hardened, probed over loopback, removed.

Every container is created with the run's labels, so :meth:`Containers.remove_all` finds each one
on every way out (failure, Ctrl-C), even one whose creation was cut short. Each wait is bounded by
the run's timeout. Checks are handed to ``add`` as they finish, so a live display shows them in
order; :mod:`stagekit.smoke.run` decides what to run and keeps the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from stagekit.contract import Stage
from stagekit.engine.client import Endpoint
from stagekit.engine.imagefs import ChunkStream, FsEntry, scan_tar
from stagekit.engine.loopback import PortInUseError, free_port, http_status, tcp_accepts
from stagekit.smoke.checks import SHELL_PROBES, CheckResult
from stagekit.smoke.report import PhaseStarted, SmokeEvent

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

SMOKE_LABEL = "org.stagekit.smoke.run"
#: Flags every release container runs with; the "hardened run" check reads them back.
HARDENED: dict[str, Any] = {
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
}


def scaled_healthcheck(config: Mapping[str, Any], scale: float) -> dict[str, Any]:
    """``create`` arguments overriding the image's HEALTHCHECK with its timings times ``scale``;
    none when not scaled or when the image has no health check (the check then says so)."""
    from docker.types import Healthcheck

    check = config.get("Healthcheck") or {}
    if scale == 1.0 or not check.get("Test"):
        return {}
    override = Healthcheck(test=check["Test"], retries=check.get("Retries"))
    # The SDK's constructor knows no StartInterval; the Engine's API does (1.44+).
    for field in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        if check.get(field):
            override[field] = int(check[field] * scale)
    return {"healthcheck": override}


class Containers:
    """Creates, runs and removes the labelled containers of one run."""

    def __init__(
        self,
        endpoint: Endpoint,
        run_id: str,
        project_name: str,
        *,
        timeout: float,
        emit: Callable[[SmokeEvent], None],
        add: Callable[[CheckResult], CheckResult],
    ) -> None:
        self.endpoint = endpoint
        self.client: DockerClient = endpoint.client()
        self.run_id = run_id
        self.labels = {SMOKE_LABEL: run_id, f"{SMOKE_LABEL}.project": project_name}
        self.timeout = timeout
        self.platform: str | None = None  # run containers for this platform (emulated or not)
        # Under emulation the image's own HEALTHCHECK timings are scaled too: a probe that answers
        # in 0.5 s natively can take the whole of a 3 s timeout under QEMU.
        self.health_scale = 1.0
        self.emit = emit
        self.add = add
        self._count = 0

    def create(self, image: str, role: str, **kwargs: Any) -> Container:
        self._count += 1
        if self.platform is not None:
            kwargs.setdefault("platform", self.platform)
        return self.client.containers.create(
            image,
            name=f"stagekit-smoke-{self.run_id}-{role}-{self._count}",
            labels=self.labels,
            **kwargs,
        )

    def export(self, tag: str) -> dict[str, FsEntry]:
        """The image's filesystem, from a container that is created but never started."""
        container = self.create(tag, "export")
        try:
            chunks = cast(Iterator[bytes], iter(container.export()))
            return scan_tar(ChunkStream(chunks))
        finally:
            container.remove(force=True)

    def shell_probes(self, tag: str) -> dict[str, str]:
        """Try to start each shell: ``refused`` (no such executable) or ``ran``."""
        import docker

        outcomes: dict[str, str] = {}
        for probe in SHELL_PROBES:
            container = self.create(
                tag,
                "probe",
                entrypoint=[probe, "-c", "exit 0"],
                command=[],
                network_disabled=True,
                **HARDENED,
            )
            try:
                container.start()
            except docker.errors.APIError as exc:
                text = str(exc)
                absent = "executable file not found" in text or "no such file" in text
                outcomes[probe] = "refused" if absent else f"start failed ({text[:80]})"
            else:
                try:
                    status = container.wait(timeout=30).get("StatusCode")
                except Exception:  # a probe that hangs started something
                    outcomes[probe] = "exit none: still running after 30 s"
                else:
                    outcomes[probe] = "ran" if status == 0 else f"exit {status}"
            finally:
                container.remove(force=True)
        return outcomes

    # the release container ----------------------------------------------------------------------

    def run_release(
        self,
        tag: str,
        config: Mapping[str, Any],
        *,
        port: int,
        health_path: str,
        host_port: int | None,
    ) -> None:
        """Run the release image hardened on 127.0.0.1: healthy, answering, stopping on SIGTERM."""
        import docker

        self.emit(PhaseStarted(Stage.RELEASE, "run", "running the release container"))
        container = None
        for _attempt in range(3):
            chosen = host_port or free_port()
            try:
                container = self.create(
                    tag,
                    Stage.RELEASE.value,
                    ports={f"{port}/tcp": ("127.0.0.1", chosen)},
                    environment={"PORT": str(port)},
                    **scaled_healthcheck(config, self.health_scale),
                    **HARDENED,
                )
                container.start()
                break
            except docker.errors.APIError as exc:
                if container is not None:
                    container.remove(force=True)
                    container = None
                text = str(exc)
                if "already allocated" in text or "address already in use" in text:
                    if host_port is not None:
                        raise PortInUseError(
                            f"port 127.0.0.1:{host_port} is already in use",
                            "pass another --host-port, or leave it out to pick a free port",
                        ) from None
                    continue  # another process took the free port: pick again
                self.add(CheckResult("hardened run", False, f"the container did not start: {text}"))
                return
        if container is None:
            raise PortInUseError("no free loopback port could be published after 3 tries")
        started = time.monotonic()
        healthy = self.wait_healthy(container, started)
        self.add(self.hardened(container, healthy))
        self.add(healthy)
        self.add(self.probe_endpoint(chosen, health_path, started))
        self.add(self.stop(container, config))

    def wait_healthy(self, container: Container, started: float) -> CheckResult:
        name = "healthy"
        self.emit(PhaseStarted(Stage.RELEASE, "healthy", "waiting for the health check"))
        status = "starting"
        while True:
            container.reload()
            state = container.attrs.get("State") or {}
            health = state.get("Health")
            elapsed = time.monotonic() - started
            if not state.get("Running"):
                code = state.get("ExitCode")
                return CheckResult(
                    name,
                    False,
                    f"exited with code {code} after {elapsed:.1f} s: {self.logs_tail(container)}",
                )
            if health is None:
                return CheckResult(name, False, "no health check to wait for")
            status = str(health.get("Status"))
            if status == "healthy":
                scaled = (
                    f" (its HEALTHCHECK timings x{self.health_scale:g}: emulated)"
                    if self.health_scale != 1.0
                    else ""
                )
                return CheckResult(name, True, f"healthy after {elapsed:.1f} s{scaled}")
            if status == "unhealthy" or elapsed > self.timeout:
                last = (health.get("Log") or [{}])[-1]
                probe = str(last.get("Output", "")).strip().replace("\n", " ")[:160]
                why = f"; last probe exit {last.get('ExitCode')}: {probe}" if last else ""
                verb = "unhealthy" if status == "unhealthy" else f"still {status}"
                return CheckResult(
                    name, False, f"{verb} after {elapsed:.1f} s (bound {self.timeout:g} s){why}"
                )
            time.sleep(0.25)

    @staticmethod
    def hardened(container: Container, healthy: CheckResult) -> CheckResult:
        """The engine applied every restriction, and the app kept running under them."""
        name = "hardened run"
        host = container.attrs.get("HostConfig") or {}
        flags = []
        if host.get("ReadonlyRootfs"):
            flags.append("read-only")
        if host.get("CapDrop") == ["ALL"] and not host.get("CapAdd"):
            flags.append("cap-drop ALL")
        if "no-new-privileges" in (host.get("SecurityOpt") or []):
            flags.append("no-new-privileges")
        if len(flags) < 3:
            return CheckResult(name, False, f"the engine did not apply every restriction: {flags}")
        running = bool((container.attrs.get("State") or {}).get("Running"))
        if not running and not healthy.ok:
            return CheckResult(
                name, False, f"{', '.join(flags)}: the app stopped ({healthy.detail})"
            )
        return CheckResult(name, True, f"{', '.join(flags)}; the app keeps running")

    def probe_endpoint(self, host_port: int, path: str, started: float) -> CheckResult:
        name = "health endpoint"
        self.emit(PhaseStarted(Stage.RELEASE, "endpoint", f"GET {path} on 127.0.0.1"))
        deadline = max(time.monotonic() + 5.0, started + self.timeout)
        while True:
            status, body = http_status(host_port, path)
            if status == 200:
                return CheckResult(name, True, f"GET {path} → 200 on 127.0.0.1:{host_port}")
            if time.monotonic() >= deadline:
                what = f"→ {status} {body[:80]}" if status is not None else f"failed: {body}"
                return CheckResult(name, False, f"GET {path} {what} (127.0.0.1:{host_port})")
            time.sleep(0.5)

    def stop(self, container: Container, config: Mapping[str, Any]) -> CheckResult:
        import requests

        name = "sigterm"
        self.emit(PhaseStarted(Stage.RELEASE, "stop", "sending SIGTERM"))
        container.reload()
        state = container.attrs.get("State") or {}
        if not state.get("Running"):
            return CheckResult(
                name, False, f"the container had already exited ({state.get('ExitCode')})"
            )
        stop_signal = str(config.get("StopSignal") or "SIGTERM")
        started = time.monotonic()
        container.kill(signal="SIGTERM")
        try:
            code = container.wait(timeout=self.timeout).get("StatusCode")
        except requests.exceptions.RequestException:
            return CheckResult(name, False, f"still running {self.timeout:g} s after SIGTERM")
        seconds = time.monotonic() - started
        note = "" if stop_signal in ("SIGTERM", "15") else f" (STOPSIGNAL is {stop_signal})"
        if code != 0:
            return CheckResult(
                name,
                False,
                f"exit code {code} {seconds:.1f} s after SIGTERM{note}: "
                f"{self.logs_tail(container)}",
            )
        return CheckResult(name, True, f"exit 0 {seconds:.2f} s after SIGTERM{note}")

    def logs_tail(self, container: Container, lines: int = 5) -> str:
        try:
            raw = container.logs(tail=lines)
        except Exception:  # logs only decorate a failure
            return "(no logs)"
        text = raw.decode("utf-8", errors="replace").strip() if isinstance(raw, bytes) else ""
        return " | ".join(text.splitlines()[-lines:]) or "(no output)"

    # the debug container ------------------------------------------------------------------------

    def debugger_accepts(self, tag: str, *, debug_port: int, app_port: int) -> CheckResult:
        """Start the debug image and wait (bounded) until its debugger port holds a connection."""
        import docker

        name = "debug port"
        self.emit(PhaseStarted(Stage.DEBUG, "debug", f"waiting for the debugger on {debug_port}"))
        host_port = free_port()
        try:
            container = self.create(
                tag,
                Stage.DEBUG.value,
                ports={f"{debug_port}/tcp": ("127.0.0.1", host_port)},
                environment={"PORT": str(app_port)},
            )
            container.start()
        except docker.errors.APIError as exc:
            return CheckResult(
                name, False, f"the debug container did not start: {exc}", Stage.DEBUG
            )
        started = time.monotonic()
        deadline = started + self.timeout
        why = ""
        while time.monotonic() < deadline:
            container.reload()
            state = container.attrs.get("State") or {}
            if not state.get("Running"):
                detail = f"exited with code {state.get('ExitCode')}: {self.logs_tail(container)}"
                return CheckResult(name, False, detail, Stage.DEBUG)
            accepted, why = tcp_accepts(host_port)
            if accepted:
                elapsed = time.monotonic() - started
                detail = f"{debug_port} on 127.0.0.1:{host_port}: {why} after {elapsed:.1f} s"
                return CheckResult(name, True, detail, Stage.DEBUG)
            time.sleep(0.5)
        detail = f"no debugger on {debug_port} within {self.timeout:g} s: {why}"
        return CheckResult(name, False, detail, Stage.DEBUG)

    # cleanup ------------------------------------------------------------------------------------

    def remove_all(self) -> None:
        """Remove every container labelled with this run (also ones whose creation was cut)."""
        for _attempt in range(3):
            try:
                found = self.client.containers.list(
                    all=True, filters={"label": f"{SMOKE_LABEL}={self.run_id}"}
                )
                for container in found:
                    container.remove(force=True)
                return
            except KeyboardInterrupt:
                continue  # a second Ctrl-C must not leave containers behind
            except Exception:  # retry on a fresh connection
                self.client = self.endpoint.client()
