import IterCore
print("demo")
