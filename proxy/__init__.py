"""Smart cluster client and RESP proxy (learn topology as real clients do)."""
