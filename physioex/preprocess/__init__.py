"""Raw recordings -> 30-s epochs in uV with AASM labels, written into the Zarr epoch store."""
