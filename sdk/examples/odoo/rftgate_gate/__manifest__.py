{
    "name": "rftgate: right-first-time gate for transfers",
    "summary": "Checks transfers at release with rftgate; holds the bad ones "
               "with a chatter note and an Exception activity",
    "version": "17.0.1.0.0",
    "category": "Inventory/Inventory",
    "depends": ["stock", "mail"],
    "data": [],
    "installable": True,
    "application": False,
    "license": "LGPL-3",
}
