"""Cloud Storage and local files: locations, resource fetching, and object I/O."""
