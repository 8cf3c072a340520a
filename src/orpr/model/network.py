"""The domain-informed foundation model (DESIGN §6): a small Transformer and two heads.

Symbols: ``h`` the encoder's summary of a state (``d_model``); ``z`` the decision latent
(``latent`` dims) with posterior ``q(z|h) = N(μ, σ²)``; ``v`` inventory days on a grid of
``n_bins`` values; ``H`` forecast days; ``Q`` quantile levels; ``d̂`` the reference rate.

Tokens, in order: ``[CLS, position, calendar × Cd/P, attributes, categories, sales × W/P]``
(14 with the defaults), each a linear projection of its stream (``orpr.model.features``) plus a
learned position embedding. A pre-LayerNorm Transformer encoder runs over them and ``h`` is
the CLS output. Heads:

- ``SalesHead``: quantiles ``(0.1, 0.5, 0.9)`` of each of the next ``H`` days' demand ÷
  ``d̂_t`` (daily, so forecasts are scored per day), non-crossing by construction;
- ``DecisionHead``: VAE-logits — ``μ, log σ² = posterior(h)``, and a decoder ``(z, h) →``
  logits over the ``v`` grid. A decision uses ``z = μ``; training samples ``z = μ + σ·ε``.

Losses are small named functions: ``pinball_loss``, ``kl_to_standard_normal``,
``label_cross_entropy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from orpr.model.features import C_ATTR, C_CAL, C_SALES, Features, FeatureSpec


@dataclass(frozen=True)
class ModelSpec:
    """Every size the model is built from (written into ``model.json``).

    Attributes:
        features: stream shapes.
        d_model: token width.
        layers: Transformer blocks.
        heads: attention heads.
        d_ff: hidden width of each block's MLP.
        dropout: dropout rate in the encoder.
        latent: dims of the decision latent ``z``.
        decoder_hidden: hidden width of the decision decoder.
        horizon: ``H``, forecast days.
        quantiles: forecast quantile levels, ascending.
        n_bins: size of the ``v`` grid.
    """

    features: FeatureSpec
    d_model: int = 128
    layers: int = 3
    heads: int = 4
    d_ff: int = 512
    dropout: float = 0.0
    latent: int = 16
    decoder_hidden: int = 256
    horizon: int = 14
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    n_bins: int = 61

    @property
    def tokens(self) -> int:
        f = self.features
        return 4 + f.calendar_days // f.patch + f.window // f.patch


class SelfAttention(nn.Module):
    """Multi-head self-attention over all tokens (no mask: the state is one set of facts)."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.heads = spec.heads
        self.qkv = nn.Linear(spec.d_model, 3 * spec.d_model)
        self.proj = nn.Linear(spec.d_model, spec.d_model)
        self.dropout = spec.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        q = q.view(B, T, self.heads, D // self.heads).transpose(1, 2)  # (B, heads, T, D/heads)
        k = k.view(B, T, self.heads, D // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, D // self.heads).transpose(1, 2)
        drop = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        y = y.transpose(1, 2).contiguous().view(B, T, D)  # (B, T, D)
        return self.proj(y)


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: attention then MLP, each residual."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.ln1 = nn.LayerNorm(spec.d_model)
        self.attn = SelfAttention(spec)
        self.ln2 = nn.LayerNorm(spec.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(spec.d_model, spec.d_ff),
            nn.GELU(),
            nn.Linear(spec.d_ff, spec.d_model),
            nn.Dropout(spec.dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Encoder(nn.Module):
    """Streams → tokens → Transformer → ``h`` (the CLS output), ``(B, d_model)``."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        f, d = spec.features, spec.d_model
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.position = nn.Linear(f.position_size, d)
        self.calendar = nn.Linear(f.patch * C_CAL, d)
        self.attributes = nn.Linear(C_ATTR, d)
        self.categories = nn.Embedding(f.hash_buckets, d, padding_idx=0)
        self.sales = nn.Linear(f.patch * C_SALES, d)
        self.pos_emb = nn.Parameter(torch.zeros(1, spec.tokens, d))
        self.blocks = nn.ModuleList(Block(spec) for _ in range(spec.layers))
        self.ln_f = nn.LayerNorm(d)
        nn.init.normal_(self.cls, std=0.02)
        nn.init.normal_(self.pos_emb, std=0.02)

    def forward(self, x: Features) -> torch.Tensor:
        B = x.sales.shape[0]
        tokens = (
            torch.cat(
                [
                    self.cls.expand(B, -1, -1),  # (B, 1, d)
                    self.position(x.position).unsqueeze(1),  # (B, 1, d)
                    self.calendar(x.calendar),  # (B, Cd/P, d)
                    self.attributes(x.attributes).unsqueeze(1),  # (B, 1, d)
                    self.categories(x.categories).sum(1, keepdim=True),  # (B, 1, d)
                    self.sales(x.sales),  # (B, W/P, d)
                ],
                dim=1,
            )
            + self.pos_emb
        )  # (B, T, d)
        for block in self.blocks:
            tokens = block(tokens)
        return self.ln_f(tokens[:, 0])  # (B, d)


class SalesHead(nn.Module):
    """``h`` → demand quantiles of the next ``H`` days ÷ ``d̂_t``, ``(B, H, Q)``, ascending in Q."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.shape = (spec.horizon, len(spec.quantiles))
        self.mlp = nn.Sequential(
            nn.Linear(spec.d_model, spec.d_model),
            nn.GELU(),
            nn.Linear(spec.d_model, spec.horizon * len(spec.quantiles)),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        raw = self.mlp(h).view(-1, *self.shape)  # (B, H, Q)
        # lowest quantile, then non-negative steps up: quantiles never cross
        steps = torch.cat([raw[..., :1], F.softplus(raw[..., 1:])], dim=-1)
        return steps.cumsum(dim=-1)


class DecisionHead(nn.Module):
    """VAE-logits head: ``q(z|h) = N(μ, σ²)`` and a decoder ``(z, h)`` → logits over the grid."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.latent = spec.latent
        self.q = nn.Linear(spec.d_model, 2 * spec.latent)
        self.decoder = nn.Sequential(
            nn.Linear(spec.latent + spec.d_model, spec.decoder_hidden),
            nn.GELU(),
            nn.Linear(spec.decoder_hidden, spec.decoder_hidden),
            nn.GELU(),
            nn.Linear(spec.decoder_hidden, spec.n_bins),
        )

    def posterior(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(μ, log σ²)``, each ``(B, latent)``; log σ² clamped to [−10, 5] for stability."""
        mu, logvar = self.q(h).split(self.latent, dim=-1)
        return mu, logvar.clamp(-10.0, 5.0)

    def logits(self, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Logits over the ``v`` grid ``(B, n_bins)`` for latent ``z`` ``(B, latent)``."""
        return self.decoder(torch.cat([z, h], dim=-1))


class ORPRModel(nn.Module):
    """Encoder, sales head and decision head."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.encoder = Encoder(spec)
        self.sales_head = SalesHead(spec)
        self.decision_head = DecisionHead(spec)

    def forward(self, x: Features) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantile forecast ``(B, H, Q)`` and decision logits at ``z = μ`` ``(B, n_bins)``."""
        h = self.encoder(x)
        mu, _ = self.decision_head.posterior(h)
        return self.sales_head(h), self.decision_head.logits(mu, h)

    def set_dropout(self, rate: float) -> None:
        """Set the encoder's dropout rate (a stage may train with a rate of its own)."""
        for module in self.modules():
            if isinstance(module, nn.Dropout):
                module.p = rate
            elif isinstance(module, SelfAttention):
                module.dropout = rate

    def decision_logits(self, x: Features) -> torch.Tensor:
        """Logits of the decision at ``z = μ``, ``(B, n_bins)``."""
        h = self.encoder(x)
        mu, _ = self.decision_head.posterior(h)
        return self.decision_head.logits(mu, h)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def to_tensors(x: Features) -> Features:
    """A numpy feature batch as torch tensors (float32; int64 ids)."""
    return Features(*(torch.from_numpy(a) for a in x))


def pinball_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    quantiles: tuple[float, ...],
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Weighted mean pinball (quantile) loss over the masked days and all quantile levels.

    Args:
        pred: quantiles ``(B, H, Q)``.
        target: realised values ``(B, H)``.
        mask: days that count, bool ``(B, H)``.
        quantiles: levels ``τ`` ``(Q,)``.
        weight: per-row weight ``(B,)`` (default 1). With targets ÷ ``d̂`` and weight ``d̂``
            the loss is the pinball loss in units over the batch's volume, as WAPE weighs.

    Returns:
        ``Σ w·(τ·(y − ŷ)⁺ + (1 − τ)·(ŷ − y)⁺) / Σ w`` over counted days and levels, a scalar
        (0 if nothing counts).
    """
    tau = torch.tensor(quantiles, dtype=pred.dtype)
    err = target.unsqueeze(-1) - pred  # (B, H, Q)
    loss = torch.maximum(tau * err, (tau - 1.0) * err).mean(-1)  # (B, H)
    m = mask.to(pred.dtype)
    if weight is not None:
        m = m * weight.to(pred.dtype).unsqueeze(-1)
    return (loss * m).sum() / m.sum().clamp(min=1e-12)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(μ, σ²) ‖ N(0, I))`` per row, ``(B,)``: ``½ Σ (μ² + σ² − 1 − log σ²)`` ≥ 0.

    ``σ² − 1`` is computed as ``expm1(log σ²)``, so rounding never makes a term negative.
    """
    return 0.5 * (mu.pow(2) + (torch.expm1(logvar) - logvar).clamp(min=0.0)).sum(-1)


def label_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.0
) -> torch.Tensor:
    """Cross-entropy to grid labels, optionally smoothed over the neighbouring bins.

    Args:
        logits: ``(B, n_bins)``.
        target: label bin ``v*`` index, int64 ``(B,)``.
        smoothing: mass moved from the label bin to its ±1 neighbours (split evenly; at an
            edge of the grid the missing neighbour's share stays on the label bin).

    Returns:
        Mean cross-entropy, a scalar.
    """
    n = logits.shape[-1]
    lo = (target - 1).clamp(min=0)
    hi = (target + 1).clamp(max=n - 1)
    soft = torch.zeros_like(logits)
    soft.scatter_add_(1, lo[:, None], torch.full_like(logits[:, :1], smoothing / 2))
    soft.scatter_add_(1, hi[:, None], torch.full_like(logits[:, :1], smoothing / 2))
    soft.scatter_add_(1, target[:, None], torch.full_like(logits[:, :1], 1.0 - smoothing))
    return -(soft * F.log_softmax(logits, dim=-1)).sum(-1).mean()
