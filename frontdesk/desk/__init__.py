"""What the front desk reads across features: chart views, the chart search, and the words
the staff surfaces (TUI, CLI) use for outcomes."""
