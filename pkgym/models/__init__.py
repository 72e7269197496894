"""Published models, one module each: parameter dataclasses with units and citations."""
