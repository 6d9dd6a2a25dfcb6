"""Linux incidents as the host kept them: kernel logs and journals in every common form,
userspace killers, Kubernetes, and sosreports. ``table.py`` lists the scenarios."""
