print("emocfg")
