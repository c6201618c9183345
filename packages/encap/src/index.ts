// @weft/encap: public surface (filled by its issue).
export {};
