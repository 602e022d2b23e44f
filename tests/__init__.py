"""Tests of order-intake."""
