"""Domain core: people, orders and their lifecycle, bids, money. No I/O libraries here."""
