"""Raw-data sources: Sleep-EDF Expanded, Dreem DOD-H/DOD-O and the offline demo."""
