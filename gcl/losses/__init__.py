"""Contrastive objectives. Exporting a class here registers it (``loss: {name: ...}``)."""

from gcl.losses.info_nce import InfoNCE, info_nce

__all__ = ['InfoNCE', 'info_nce']
