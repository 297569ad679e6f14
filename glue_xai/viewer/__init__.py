"""glue-core integration without Qt: viewer and layer state, layer artists, catalogue links."""
