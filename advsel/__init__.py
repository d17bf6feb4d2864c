"""advsel: adversarial training with sample selection (DS and CAT) and their baselines."""

__version__ = "0.1.0"
