"""Reference data and how it is written: districts, jamoats and villages, crops, names in four languages, phones (E.164), quantities and money."""
