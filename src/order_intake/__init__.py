"""order-intake: the customer order submission API (v4) of a product-reviews platform."""

__all__ = ["__version__"]

__version__ = "0.1.0"
