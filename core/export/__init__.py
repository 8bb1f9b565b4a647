"""Files that leave the app: chart images, offline HTML, CSV tables."""
