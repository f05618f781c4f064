"""Distillation, a technique beside the core: teacher files (``teacher``; its command is
``python -m ngjax.distill.teacher``), the soft targets a student reads (``targets``), the linear
member (``linear``) and the mixed documents (``augment``)."""
