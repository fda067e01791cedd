"""One reader per dataset format; each module offers ``detect(path)`` and ``open_source(path, ...)``.

The order they are tried in, and the prepared sets beside them, is ``dcgan.data.loading.FORMATS``.
"""
