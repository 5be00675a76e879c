"""musiclatent: a latent space of musical phrases."""

__version__ = "0.1.0"
