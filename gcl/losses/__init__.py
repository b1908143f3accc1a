"""Contrastive objectives. Exporting a class here registers it (``loss: {name: ...}``)."""

from gcl.losses.info_nce import InfoNCE, info_nce
from gcl.losses.resc import ReSC, resc_loss
from gcl.losses.team_up import TeamUp, team_up

__all__ = ['InfoNCE', 'info_nce', 'ReSC', 'resc_loss', 'TeamUp', 'team_up']
