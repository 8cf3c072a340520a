"""Stage 2: demand pretraining and label training, the plain training loop they share, and ``orpr pretrain``."""
