"""Market prices: markets, prices per crop and day, the weekly digest and threshold alerts."""
