"""Looking inside trained networks: gradient flow while training, and what a CNN learned."""

from .gradient_flow import GradientFlow
