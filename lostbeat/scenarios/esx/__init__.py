"""ESX and ESXi incidents as they really reach a support engineer: purple screens (whole,
cut, garbled, flattened, excerpted), backtraces, vmkernel logs, ESXi 5-8 vm-support bundles,
and the logs of hosts that did not crash. ``table.py`` lists the scenarios."""
