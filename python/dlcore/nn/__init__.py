"""Neural-network layers (filled by the nn work)."""
