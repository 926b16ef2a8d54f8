def write_cards(res, cards_dir):
    pass
