"""Growing a neural model's catalog: new items get new rows, old items keep theirs.

A catalog only grows (``zoo.updates.Catalog``), so a network that learns from the stream gains
rows at the end of every item-indexed table (input embeddings, output embeddings and biases)
and keeps every existing row as it is: right after growth, every old item scores exactly as
before. A new row starts at the mean of the table's item rows plus a little seeded noise (a
tenth of the rows' spread), so a new item starts as a typical item, not as the best or the
worst, and new items do not tie with each other.

An optimiser's per-parameter state (Adam's moments, Adagrad's accumulators) is grown the same
way, with zeros for the new rows (``regrown_optimizer``): the old rows keep their history.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

NOISE = 0.1  # a new row's noise, as a share of each column's spread over the existing rows

OptimizerFactory = Callable[[nn.Module], torch.optim.Optimizer]


def new_rows(
    table: torch.Tensor, extra: int, generator: torch.Generator, head: int = 0
) -> torch.Tensor:
    """``extra`` rows for ``table`` (rows ``head..``: its items; row 0 of a model-id table is
    padding): the item rows' mean plus ``NOISE`` times their spread of seeded noise."""
    known = table[head:].detach().float()
    mean = known.mean(dim=0) if len(known) else torch.zeros(table.shape[1:])
    spread = known.std(dim=0) if len(known) > 1 else torch.zeros(table.shape[1:])
    noise = torch.randn((extra, *table.shape[1:]), generator=generator)
    return (mean + NOISE * spread * noise).to(table.dtype)


@torch.no_grad()
def grow_embedding(
    table: nn.Embedding, extra: int, generator: torch.Generator, head: int = 0
) -> None:
    """Append ``extra`` rows to ``table`` (``head``: leading rows that are no item)."""
    if extra <= 0:
        return
    weight = table.weight
    rows = new_rows(weight, extra, generator, head).to(weight.device)
    table.weight = nn.Parameter(torch.cat([weight.detach(), rows]), weight.requires_grad)
    table.num_embeddings += extra


@torch.no_grad()
def grow_linear(layer: nn.Linear, extra: int, generator: torch.Generator) -> None:
    """Append ``extra`` output units to ``layer`` (one per new item)."""
    if extra <= 0:
        return
    weight = layer.weight
    rows = new_rows(weight, extra, generator).to(weight.device)
    layer.weight = nn.Parameter(torch.cat([weight.detach(), rows]), weight.requires_grad)
    if layer.bias is not None:
        bias = layer.bias
        more = new_rows(bias[:, None], extra, generator)[:, 0].to(bias.device)
        layer.bias = nn.Parameter(torch.cat([bias.detach(), more]), bias.requires_grad)
    layer.out_features += extra


def regrown_optimizer(
    optimizer: torch.optim.Optimizer, network: nn.Module, make: OptimizerFactory
) -> torch.optim.Optimizer:
    """A new optimiser (``make(network)``) over ``network``'s grown parameters, carrying
    ``optimizer``'s state: every state tensor shaped like its old parameter gains zero rows
    up to the new parameter's size. Parameters must keep their order (growth replaces a
    parameter in place, which keeps it)."""
    saved = optimizer.state_dict()
    params = list(network.parameters())
    for index, entry in saved["state"].items():
        param = params[index]
        for key, value in entry.items():
            if (
                isinstance(value, torch.Tensor)
                and value.dim() == param.dim() >= 1
                and value.shape[1:] == param.shape[1:]
                and value.shape[0] < param.shape[0]
            ):
                pad = value.new_zeros((param.shape[0] - value.shape[0], *value.shape[1:]))
                entry[key] = torch.cat([value, pad])
    fresh = make(network)
    fresh.load_state_dict(saved)
    return fresh
