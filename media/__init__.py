"""Media: the bytes of uploads and files on disk, what they are, and what is made from them.

Nothing here speaks HTTP or SQL; every function is plain and blocking, for a worker thread.
"""
