"""The foundation model (DESIGN §6): the three input streams, the network, safetensors checkpoints, the run directory's models and the policy that decides with a trained model."""
