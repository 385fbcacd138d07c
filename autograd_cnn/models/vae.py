"""A convolutional variational autoencoder (Kingma & Welling 2014, "Auto-encoding variational
Bayes") for small square images with values in [0, 1].

    encoder  C x S x S -conv 4/2/1-> b x S/2 -conv 4/2/1-> 2b x S/4 -flatten-> fc mu, fc logvar
    z        mu + exp(logvar / 2) * eps,  eps ~ N(0, I)      (the reparameterisation trick)
    decoder  fc -> 2b x S/4 -convT 4/2/1-> b x S/2 -convT 4/2/1-> C x S x S logits

``forward(x)`` returns (reconstruction logits, mu, logvar); ``vae_loss`` is the negative ELBO
per image: the Bernoulli reconstruction term (binary cross-entropy, summed over pixels) plus
KL(q(z|x) || N(0, I)) = -1/2 sum(1 + logvar - mu^2 - exp(logvar)).
"""

from __future__ import annotations

from .. import functional as F
from .. import nn
from ..tensor import randn_like
from ._utils import check_int

__all__ = ["ConvVAE", "conv_vae", "vae_loss"]


class ConvVAE(nn.Module):
    """See the module docstring. Input (N, C, S, S), S divisible by 4."""

    def __init__(self, in_channels: int = 1, image_size: int = 16, latent_dim: int = 8,
                 base_channels: int = 16):
        super().__init__()
        owner = "ConvVAE"
        c = check_int(in_channels, "in_channels", owner)
        self.image_size = check_int(image_size, "image_size", owner, minimum=4)
        if self.image_size % 4:
            raise ValueError(f"{owner}: image_size must be divisible by 4, got {image_size}")
        self.latent_dim = check_int(latent_dim, "latent_dim", owner)
        b = check_int(base_channels, "base_channels", owner)
        s = self.image_size // 4
        self._inner = (2 * b, s, s)
        self.encoder = nn.Sequential(
            nn.Conv2d(c, b, 4, 2, 1), nn.ReLU(True),
            nn.Conv2d(b, 2 * b, 4, 2, 1), nn.ReLU(True), nn.Flatten())
        self.fc_mu = nn.Linear(2 * b * s * s, self.latent_dim)
        self.fc_logvar = nn.Linear(2 * b * s * s, self.latent_dim)
        self.fc_decode = nn.Linear(self.latent_dim, 2 * b * s * s)
        self.decoder = nn.Sequential(
            nn.ReLU(True), nn.Unflatten(1, self._inner),
            nn.ConvTranspose2d(2 * b, b, 4, 2, 1), nn.ReLU(True),
            nn.ConvTranspose2d(b, c, 4, 2, 1))

    def encode(self, x):
        """(N, C, S, S) -> (mu, logvar), each (N, latent_dim)."""
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu, logvar):
        """z = mu + sigma * eps in train mode (gradients flow through mu and sigma); mu in eval."""
        if not self.training:
            return mu
        return mu + (logvar * 0.5).exp() * randn_like(mu)

    def decode(self, z):
        """(N, latent_dim) -> (N, C, S, S) logits (``.sigmoid()`` gives the image)."""
        return self.decoder(self.fc_decode(z))

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def vae_loss(recon_logits, x, mu, logvar, beta: float = 1.0):
    """Negative ELBO per image: (sum over pixels of BCE(recon, x) + beta * KL) / N.
    Returns (total, reconstruction, kl), three scalars (the last two detached for logging)."""
    n = x.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon_logits, x, reduction="sum") / n
    kl = (-0.5 * (1.0 + logvar - mu * mu - logvar.exp()).sum()) / n
    return rec + beta * kl, rec.detach(), kl.detach()


def conv_vae(in_channels: int = 1, image_size: int = 16, latent_dim: int = 8,
             base_channels: int = 16) -> ConvVAE:
    """A small convolutional VAE (see ``ConvVAE``)."""
    return ConvVAE(in_channels, image_size, latent_dim, base_channels)
