// @weft/tunnel: public surface (filled by its issue).
export {};
