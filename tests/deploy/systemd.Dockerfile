# A Debian machine with systemd as PID 1, for scripts/check-systemd: the unit
# of systemd/ is booted here as on a VPS. Minimal on purpose (no procps: the
# unit's ExecReload must work without a `kill` binary). Built from the same
# debian:bookworm-slim as the image (pulled, or made by
# scripts/docker-base-images).
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends systemd systemd-sysv \
 && rm -rf /var/lib/apt/lists/* \
 && systemctl mask getty.target systemd-logind.service console-getty.service \
      systemd-udevd.service systemd-udev-trigger.service systemd-timesyncd.service
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
