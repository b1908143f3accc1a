"""Contrastive objectives. Exporting a class here registers it (``loss: {name: ...}``)."""

from gcl.losses.dcl import DCL, DCLW, dcl_loss
from gcl.losses.info_nce import InfoNCE, info_nce
from gcl.losses.meow import ClusterWeightedInfoNCE
from gcl.losses.pamc import PamCLoss, SCGCLoss, pamc_block_loss, scgc_dense_loss
from gcl.losses.resc import ReSC, resc_loss
from gcl.losses.team_up import TeamUp, team_up

__all__ = ['InfoNCE', 'info_nce', 'DCL', 'DCLW', 'dcl_loss', 'ClusterWeightedInfoNCE',
           'PamCLoss', 'SCGCLoss', 'pamc_block_loss', 'scgc_dense_loss',
           'ReSC', 'resc_loss', 'TeamUp', 'team_up']
