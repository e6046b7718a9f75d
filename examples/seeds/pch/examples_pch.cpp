// The translation unit that builds the examples' shared precompiled header (sanitizer builds).
