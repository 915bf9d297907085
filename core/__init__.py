"""The app's infrastructure, below every domain package: the Flask extensions, the search,
data generations and their caches, transactions, URLs, text (markup, formatting, parsing,
limits), time and secrets. Nothing here imports a domain package."""
