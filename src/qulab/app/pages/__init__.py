"""The pages: widgets, cached calls into the library, and charts; no logic of their own."""
