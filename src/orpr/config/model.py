"""Config sections of the foundation model (DESIGN §6) and its two training stages."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from orpr.config.rules import Section, at_least, below_one, fraction, positive, require


@dataclass(frozen=True)
class ModelConfig(Section):
    """The foundation model's sizes (DESIGN §6) and where a trained one lives."""

    window: int = 56
    """W: days of sales history per state, days (a multiple of patch)."""
    patch: int = 7
    """Days per sales or calendar token, days."""
    calendar_days: int = 14
    """Days of known calendar (promo, discount, holiday) from the decision day, days."""
    pipeline_slots: int = 8
    """Pipeline slots in the position token (later orders are summed into the last), slots."""
    hash_buckets: int = 1536
    """Rows of the hashed category-level and location embedding table, rows."""
    d_model: int = 128
    """Token width, features."""
    layers: int = 3
    """Transformer blocks, count."""
    heads: int = 4
    """Attention heads, count."""
    d_ff: int = 512
    """Hidden width of each block's MLP, features."""
    dropout: float = 0.1
    """Encoder dropout in demand pretraining (forecasts hold up better on later days), fraction."""
    latent: int = 16
    """Dims of the decision head's latent z, dims."""
    decoder_hidden: int = 256
    """Hidden width of the decision decoder (z, h) → logits, features."""
    horizon: int = 14
    """Forecast days of the sales head, days."""
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    """Quantile levels of the sales head, ascending, in (0, 1)."""
    checkpoint: str = ""
    """Directory of a trained model (model.safetensors + model.json) the pretrained policy loads."""

    def check(self) -> None:
        at_least(self, 1, "window", "patch", "pipeline_slots", "hash_buckets", "d_model")
        at_least(self, 1, "layers", "heads", "d_ff", "latent", "decoder_hidden", "horizon")
        at_least(self, 0, "calendar_days")
        multiple = self.window % self.patch == 0 and self.calendar_days % self.patch == 0
        require(
            multiple, "patch", "window and calendar_days must be multiples of patch", self.patch
        )
        require(
            self.d_model % self.heads == 0,
            "heads",
            "d_model must be a multiple of heads",
            self.heads,
        )
        below_one(self, "dropout")
        q = self.quantiles
        ok = bool(q) and q[0] > 0 and q[-1] < 1 and all(a < b for a, b in pairwise(q))
        require(ok, "quantiles", "must rise strictly within (0, 1)", list(q))


@dataclass(frozen=True)
class TrainConfig(Section):
    """The two training stages: demand pretraining, then the decision head on OR labels."""

    threads: int = 1
    """CPU threads torch may use (more than the idle cores slows torch many-fold), threads."""
    batch_size: int = 256
    """States per optimiser step, states."""
    min_history: int = 14
    """History a training state needs before its day t, days."""
    val_days: int = 14
    """Last days of the training period held out for validation and early stopping, days."""
    val_samples: int = 4096
    """States in each validation set (sampled once, seeded), states."""
    demand_epochs: int = 6
    """Epochs of demand pretraining (encoder + sales head, pinball loss), epochs."""
    demand_samples: int = 32768
    """Unit-days sampled afresh for each demand epoch, states."""
    demand_lr: float = 1e-3
    """AdamW learning rate of demand pretraining, per step."""
    label_epochs: int = 8
    """Epochs of decision-head training on OR labels, epochs."""
    label_samples: int = 24576
    """Labelled states sampled afresh for each label epoch, states."""
    label_lr: float = 1e-3
    """AdamW learning rate of the decision head, per step."""
    frozen_epochs: int = 3
    """Label epochs with the encoder frozen before it is unfrozen, epochs."""
    unfreeze_lr_scale: float = 0.1
    """Encoder learning rate as a fraction of label_lr once unfrozen (0 = stays frozen), ratio."""
    beta_vae: float = 0.01
    """Weight of KL(q(z|h) ‖ N(0, I)) in the label loss, per nat."""
    demand_weight: float = 2.0
    """Weight of the demand pinball loss while the encoder trains on labels, ratio."""
    label_dropout: float = 0.0
    """Encoder dropout while training on labels (model.dropout is demand pretraining's), rate."""
    smoothing: float = 0.1
    """Label mass spread onto the ±1 neighbouring grid bins, fraction."""
    weight_decay: float = 0.01
    """AdamW weight decay, per step ÷ learning rate."""
    grad_clip: float = 1.0
    """Gradient norm clip, L2 norm."""
    patience: int = 2
    """Epochs without validation improvement before a stage stops early, epochs."""
    heldout_samples: int = 20000
    """Held-out states (seeded sample) the WAPE and the label accuracy are measured on, states."""
    checkpoint_every: int = 200
    """Optimiser steps between training-state checkpoints, steps."""
    max_steps: int = 0
    """Stop (resumably) once this many optimiser steps are done in all (0 = no limit), steps."""

    def check(self) -> None:
        at_least(self, 1, "threads", "batch_size", "val_samples", "demand_samples")
        at_least(self, 1, "label_samples", "heldout_samples", "checkpoint_every")
        at_least(self, 0, "min_history", "val_days", "demand_epochs", "label_epochs")
        at_least(self, 0, "frozen_epochs", "patience", "max_steps")
        positive(self, "demand_lr", "label_lr", "grad_clip")
        at_least(self, 0, "unfreeze_lr_scale", "beta_vae", "demand_weight", "weight_decay")
        below_one(self, "label_dropout")
        fraction(self, "smoothing", closed=True)
