"""The bottom layer: errors, ids, decimals and money, the clock. Imports nothing of jimu."""
