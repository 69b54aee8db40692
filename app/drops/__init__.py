"""The drop engine: first-come purchase rights that never oversell, deadlines, the stock ledger."""
