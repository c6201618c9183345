// @weft/agent: public surface (filled by its issue).
export {};
